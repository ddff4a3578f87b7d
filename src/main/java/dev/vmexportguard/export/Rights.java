package dev.vmexportguard.export;

import dev.vmexportguard.cluster.AccessReview;
import dev.vmexportguard.config.GuardConfig;
import dev.vmexportguard.decision.Authority;
import dev.vmexportguard.decision.Decision;
import dev.vmexportguard.decision.ExportRequest;
import dev.vmexportguard.decision.Identity;
import dev.vmexportguard.decision.Messages;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.Optional;

/**
 * The rights a request needs, asked of the API server (SubjectAccessReviews) unless
 * {@code guard.authorization.mode=none}: the caller's to act for the requester, the requester's to do what the
 * guard would do for them. Each answer is the refusal's message, when a right is missing.
 */
@ApplicationScoped
public class Rights {

    private final AccessReview access;
    private final boolean checked;

    public Rights(AccessReview access, GuardConfig config) {
        this.access = access;
        this.checked = config.authorization().mode() == GuardConfig.Authorization.Mode.SAR;
    }

    /** The impersonation {@code caller} lacks to act as {@code acting} says. */
    public Optional<String> toActFor(Identity caller, Authority.Acting acting) {
        if (!checked || acting.impersonation().isEmpty()) {
            return Optional.empty();
        }
        return access.firstDenied(caller, acting.impersonation())
                .map(p -> Messages.impersonationForbidden(caller.username(), p.toString()));
    }

    /** What {@code requester} lacks of what the guard would do for {@code request}, decided as {@code decision}. */
    public Optional<String> toExport(Identity requester, ExportRequest request, Decision decision) {
        if (!checked) {
            return Optional.empty();
        }
        return access.firstDenied(requester, Authority.toExport(request, decision))
                .map(p -> Messages.forbidden(requester.username(), p.toString()));
    }

    /** Why {@code who} may not learn what uses {@code volume} of {@code namespace}: the admission webhook's check. */
    public Optional<String> toSeeVolume(Identity who, String namespace, String volume) {
        if (!checked) {
            return Optional.empty();
        }
        return access.firstDenied(who, List.of(Authority.toSeeVolume(namespace, volume)))
                .map(p -> Messages.forbiddenToSee(who.username(), p.toString()));
    }
}
