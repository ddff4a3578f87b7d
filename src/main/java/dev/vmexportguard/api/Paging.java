package dev.vmexportguard.api;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** Page sizes and the opaque cursors of paged answers: a row id and the direction, base64url. */
final class Paging {
    static final String BEFORE = "before:";
    static final String AFTER = "after:";
    static final int MAX_LIMIT = 500;

    private Paging() {
    }

    static int limit(Integer requested, int fallback) {
        int size = requested == null ? fallback : requested;
        if (size < 1 || size > MAX_LIMIT) {
            throw new BadQueryException("limit", "must be between 1 and " + MAX_LIMIT);
        }
        return size;
    }

    static String encode(String direction, long id) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString((direction + id).getBytes(StandardCharsets.UTF_8));
    }

    static Long decode(String cursor, String direction) {
        if (cursor == null || cursor.isBlank()) {
            return null;
        }
        try {
            String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            if (!text.startsWith(direction)) {
                throw new IllegalArgumentException(text);
            }
            return Long.parseLong(text.substring(direction.length()));
        } catch (IllegalArgumentException e) {
            throw new BadQueryException("cursor", "is not a cursor this API returned");
        }
    }
}
