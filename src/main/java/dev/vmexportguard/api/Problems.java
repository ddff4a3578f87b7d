package dev.vmexportguard.api;

import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;

/** Problem details (RFC 9457): the one shape of every error answer of the API. */
final class Problems {
    private Problems() {
    }

    static Response of(int status, String title, String detail) {
        return of(status, title, detail, Map.of());
    }

    /** With members of its own beside the standard ones (e.g. {@code violations}). */
    static Response of(int status, String title, String detail, Map<String, Object> extra) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", "about:blank");
        body.put("title", title);
        body.put("status", status);
        body.put("detail", detail);
        body.putAll(extra);
        return Response.status(status).type("application/problem+json").entity(body).build();
    }
}
