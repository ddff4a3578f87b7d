package dev.vmexportguard.support;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The guard's serving certificate for its admission webhook, as cert-manager writes it into the Secret mounted in the
 * pod: {@code tls.crt} and {@code tls.key} (PEM) in one folder, read by the TLS registry and looked at again every
 * second ({@code quarkus.tls.reload-period}). {@link #renew()} writes a new one over them, as a renewal does.
 * Declared for every {@code @QuarkusTest} ({@link BrokerAndDatabase}): the guard serves HTTPS in all of them.
 */
public class WebhookCertificate implements QuarkusTestResourceLifecycleManager {
    private static final Path FOLDER = Path.of("target", "webhook-tls");
    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());
    private static volatile X509Certificate current;

    @Override
    public Map<String, String> start() {
        renew();
        return Map.of(
                "quarkus.tls.key-store.pem.webhook.cert", FOLDER.resolve("tls.crt").toAbsolutePath().toString(),
                "quarkus.tls.key-store.pem.webhook.key", FOLDER.resolve("tls.key").toAbsolutePath().toString(),
                "quarkus.tls.reload-period", "1s",
                "quarkus.http.test-ssl-port", "0");
    }

    @Override
    public void stop() {
    }

    /** Writes a new certificate for {@code localhost} and its key over the old ones; returns its serial number. */
    public static synchronized BigInteger renew() {
        current = issue(FOLDER).certificate();
        return current.getSerialNumber();
    }

    /** A certificate and its key. */
    public record Issued(X509Certificate certificate, PrivateKey key) {
        /** TLS that serves this certificate, as a server. */
        public SSLContext serving() {
            try {
                KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(null, null);
                char[] password = "local".toCharArray();
                store.setKeyEntry("server", key, password, new X509Certificate[] {certificate});
                KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keys.init(store, password);
                SSLContext context = SSLContext.getInstance("TLS");
                context.init(keys.getKeyManagers(), null, null);
                return context;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** A new certificate for {@code localhost} and its key, written as {@code tls.crt} and {@code tls.key} into {@code folder}. */
    public static Issued issue(Path folder) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(256);
            KeyPair keys = generator.generateKeyPair();
            Instant now = Instant.now();
            BigInteger serial = BigInteger.valueOf(SERIAL.incrementAndGet());
            X500Name name = new X500Name("CN=vm-export-guard.vm-export-guard.svc");
            JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, serial,
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(1))), name,
                    keys.getPublic());
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                    new GeneralName(GeneralName.dNSName, "localhost"),
                    new GeneralName(GeneralName.dNSName, "vm-export-guard.vm-export-guard.svc"),
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
            X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
            Files.createDirectories(folder);
            // cert-manager's encoding PKCS8; the key first, then the certificate
            write(folder, "tls.key", pem(new JcaPKCS8Generator(keys.getPrivate(), null)));
            write(folder, "tls.crt", pem(certificate));
            return new Issued(certificate, keys.getPrivate());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The certificate written last. */
    public static X509Certificate current() {
        return current;
    }

    /** TLS that trusts {@code certificate} alone, as the API server trusts the webhook's {@code caBundle}. */
    public static SSLContext trusting(X509Certificate certificate) {
        try {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            trust.setCertificateEntry("guard", certificate);
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, factory.getTrustManagers(), null);
            return context;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String pem(Object value) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(value);
        }
        return out.toString();
    }

    /** Replaces {@code name} at once, so that no reader sees half a file. */
    private static void write(Path folder, String name, String content) throws IOException {
        Path temporary = folder.resolve(name + ".new");
        Files.writeString(temporary, content);
        Files.move(temporary, folder.resolve(name), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }
}
