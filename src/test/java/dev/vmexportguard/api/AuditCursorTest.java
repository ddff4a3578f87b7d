package dev.vmexportguard.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

/** Tests the paging cursor of the audit API: {@link AuditResource#encodeCursor(long)} and {@link AuditResource#decodeCursor(String)}. */
class AuditCursorTest {

    private static String base64Url(String text) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void cursorIsUrlSafeBase64OfBeforeAndTheId() {
        assertThat(AuditResource.encodeCursor(42)).isEqualTo("YmVmb3JlOjQy");
        assertThat(AuditResource.encodeCursor(1)).isEqualTo("YmVmb3JlOjE");
        assertThat(new String(Base64.getUrlDecoder().decode(AuditResource.encodeCursor(1234567890123L)),
                StandardCharsets.UTF_8)).isEqualTo("before:1234567890123");
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 1, 7, 42, 999, 1_000_000, 1234567890123L, Long.MAX_VALUE})
    void cursorRoundTrips(long id) {
        String cursor = AuditResource.encodeCursor(id);

        assertThat(cursor).matches("[A-Za-z0-9_-]+");
        assertThat(AuditResource.decodeCursor(cursor)).isEqualTo(id);
    }

    @Test
    void paddedCursorIsAlsoRead() {
        assertThat(AuditResource.decodeCursor("YmVmb3JlOjE=")).isEqualTo(1L);
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {" ", "\t", "   \n"})
    void absentCursorMeansFirstPage(String cursor) {
        assertThat(AuditResource.decodeCursor(cursor)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"not base64!", "%%%", "YmVm*b3Jl", "a", "before:42", "42"})
    void textThatIsNotBase64IsRefused(String cursor) {
        assertBadCursor(cursor);
    }

    @ParameterizedTest
    @ValueSource(strings = {"42", "after:42", "Before:42", " before:42", "id=42", "before"})
    void base64OfTextWithoutTheBeforePrefixIsRefused(String text) {
        assertBadCursor(base64Url(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"before:abc", "before:", "before:4 2", "before:42 ", "before:1.5", "before:0x2A",
            "before:99999999999999999999"})
    void base64OfBeforeWithoutANumberIsRefused(String text) {
        assertBadCursor(base64Url(text));
    }

    @Test
    void standardBase64AlphabetIsRefused() {
        // "before:>>?" encodes with '+' and '/' in the standard alphabet, which the URL-safe decoder does not accept
        String standard = Base64.getEncoder().encodeToString("before:>>?".getBytes(StandardCharsets.UTF_8));
        assertThat(standard).containsAnyOf("+", "/");

        assertBadCursor(standard);
    }

    private static void assertBadCursor(String cursor) {
        assertThatThrownBy(() -> AuditResource.decodeCursor(cursor))
                .as("cursor %s", cursor)
                .isInstanceOf(BadQueryException.class)
                .hasMessage("cursor is not a cursor this API returned");
    }
}
