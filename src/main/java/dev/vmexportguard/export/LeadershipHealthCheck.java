package dev.vmexportguard.export;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Says who leads (starts and follows exports); always up: a replica that follows still takes requests over HTTP and
 * Kafka, and a time without a leader only delays exports.
 */
@Readiness
@ApplicationScoped
public class LeadershipHealthCheck implements HealthCheck {

    private final Leadership leadership;

    public LeadershipHealthCheck(Leadership leadership) {
        this.leadership = leadership;
    }

    @Override
    public HealthCheckResponse call() {
        var response = HealthCheckResponse.named("leadership").up()
                .withData("lease", leadership.lease())
                .withData("replica", leadership.identity())
                .withData("leader", leadership.leader().orElse("none"))
                .withData("leading", leadership.leading());
        leadership.epoch().ifPresent(epoch -> response.withData("epoch", epoch));
        return response.build();
    }
}
