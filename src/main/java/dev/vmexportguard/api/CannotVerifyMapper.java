package dev.vmexportguard.api;

import dev.vmexportguard.service.Callers;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import org.jboss.logging.Logger;

/** Who asks, or what they may do, cannot be verified while the API server cannot be asked: 503, fail closed. */
@Provider
public class CannotVerifyMapper implements ExceptionMapper<Callers.CannotVerify> {
    private static final Logger LOG = Logger.getLogger(CannotVerifyMapper.class);

    @Override
    public Response toResponse(Callers.CannotVerify e) {
        return answer(e);
    }

    static Response answer(Callers.CannotVerify e) {
        LOG.warnf("cannot verify a caller: %s", e.getMessage());
        return Problems.of(503, "Cannot verify who is asking",
                "The Kubernetes API server, which verifies tokens and rights, could not be asked: " + e.getMessage());
    }
}
