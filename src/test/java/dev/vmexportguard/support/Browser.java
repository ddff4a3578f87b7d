package dev.vmexportguard.support;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A real browser for the dashboard's tests: Debian's Chromium, headless, driven by its ChromeDriver
 * ({@code /usr/bin/chromium}, {@code /usr/bin/chromedriver}; {@code .ci/run} installs them when they are missing).
 * Started with the flags this machine's closed network needs, a profile of its own and a folder for downloads;
 * screenshots go to {@code target/dashboard-screenshots}.
 */
public final class Browser implements AutoCloseable {
    public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    public static final Path SCREENSHOTS = Path.of("target", "dashboard-screenshots");

    private final ChromeDriver driver;
    private final Path downloads;
    private final Path profile;

    private Browser(int width, int height) throws IOException {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            throw new IllegalStateException("the dashboard's browser tests need Debian's chromium and chromium-driver "
                    + "(apt-get install chromium chromium-driver; .ci/run installs them)");
        }
        Path target = Path.of("target").toAbsolutePath();
        downloads = Files.createTempDirectory(target, "browser-downloads-");
        profile = Files.createTempDirectory(target, "browser-profile-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-quic",
                "--disable-sync", "--user-data-dir=" + profile, "--window-size=" + width + "," + height);
        options.setExperimentalOption("prefs", Map.of("download.default_directory", downloads.toString(),
                "download.prompt_for_download", false));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
        driver.executeCdpCommand("Browser.setDownloadBehavior", Map.of("behavior", "allow",
                "downloadPath", downloads.toString()));
    }

    /** A laptop's window. */
    public static Browser start() {
        return start(1280, 900);
    }

    public static Browser start(int width, int height) {
        try {
            return new Browser(width, height);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public WebDriver driver() {
        return driver;
    }

    public void open(String url) {
        driver.get(url);
    }

    public WebElement find(String css) {
        return driver.findElement(By.cssSelector(css));
    }

    /** Waits (up to {@code seconds}) until {@code condition} gives something other than null or false. */
    public <T> T await(int seconds, Function<WebDriver, T> condition) {
        return new WebDriverWait(driver, Duration.ofSeconds(seconds)).pollingEvery(Duration.ofMillis(100))
                .ignoring(org.openqa.selenium.NoSuchElementException.class)
                .ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                .until(condition);
    }

    /** The text of {@code css} once it holds {@code text}. */
    public String awaitText(String css, String text) {
        return await(20, d -> {
            String shown = d.findElement(By.cssSelector(css)).getText();
            return shown.contains(text) ? shown : null;
        });
    }

    public Object script(String script, Object... arguments) {
        return driver.executeScript(script, arguments);
    }

    /** Saves what the page shows now as {@code name}.png. */
    public Path screenshot(String name) {
        try {
            Files.createDirectories(SCREENSHOTS);
            Path file = SCREENSHOTS.resolve(name + ".png");
            File taken = driver.getScreenshotAs(OutputType.FILE);
            Files.copy(taken.toPath(), file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The file downloaded whose name ends so, once it is complete. */
    public Path awaitDownload(String suffix) {
        return await(20, d -> {
            try (var files = Files.list(downloads)) {
                return files.filter(f -> f.getFileName().toString().endsWith(suffix)).findFirst().orElse(null);
            } catch (IOException e) {
                return null;
            }
        });
    }

    @Override
    public void close() {
        driver.quit();
        deleteQuietly(downloads);
        deleteQuietly(profile);
    }

    private static void deleteQuietly(Path folder) {
        try (var files = Files.walk(folder)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary folder under target/: mvn clean removes what is left
        }
    }
}
