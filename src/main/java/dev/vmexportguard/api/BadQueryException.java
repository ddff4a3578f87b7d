package dev.vmexportguard.api;

import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import java.util.Map;

/** A query parameter the API cannot use: answered 400 with a problem-details body (RFC 9457). */
public class BadQueryException extends RuntimeException {
    private final String parameter;

    public BadQueryException(String parameter, String problem) {
        super(parameter + " " + problem);
        this.parameter = parameter;
    }

    @Provider
    public static class Mapper implements ExceptionMapper<BadQueryException> {
        @Override
        public Response toResponse(BadQueryException e) {
            return Problems.of(400, "Bad query parameter", e.getMessage(), Map.of("parameter", e.parameter));
        }
    }

}
