package dev.vmexportguard.api;

import dev.vmexportguard.service.Callers;
import jakarta.annotation.Priority;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.Provider;

/**
 * Every {@code /api/*} call needs {@code Authorization: Bearer <token>}, verified with a TokenReview against the
 * cluster's API server: 401 without one, or with one the API server does not accept; 503 when it cannot be asked.
 * The token is never logged or kept.
 */
@Provider
@Priority(Priorities.AUTHENTICATION)
public class BearerAuthentication implements ContainerRequestFilter {
    private final Callers callers;
    private final RequestCaller caller;

    public BearerAuthentication(Callers callers, RequestCaller caller) {
        this.callers = callers;
        this.caller = caller;
    }

    @Override
    public void filter(ContainerRequestContext request) {
        if (!request.getUriInfo().getPath().startsWith("/api")) {
            return;
        }
        Callers.Caller proven;
        try {
            proven = callers.ofHttp(request.getHeaderString(HttpHeaders.AUTHORIZATION));
        } catch (Callers.CannotVerify e) {
            request.abortWith(CannotVerifyMapper.answer(e));
            return;
        }
        if (proven.refused()) {
            request.abortWith(Response.fromResponse(Problems.of(401, "Not authenticated",
                            "Send 'Authorization: Bearer <token>' with a token the cluster accepts ("
                                    + proven.problem() + ")."))
                    .header(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"vm-export-guard\"").build());
            return;
        }
        caller.set(proven.identity());
    }
}
