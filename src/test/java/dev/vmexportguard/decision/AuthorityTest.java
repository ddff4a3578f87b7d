package dev.vmexportguard.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Who a request acts for and the impersonation it needs, as the API server decides it for kubectl --as. */
class AuthorityTest {
    static final Identity BOT = new Identity("system:serviceaccount:chatops:bot",
            List.of("system:serviceaccounts", "system:authenticated"));

    @Test
    void aCallerNamingItselfAndNoGroupsActsAsItselfWithItsOwnGroups() {
        Authority.Acting acting = Authority.acting(BOT, BOT.username(), List.of());

        assertThat(acting.requester()).isEqualTo(BOT);
        assertThat(acting.impersonation()).isEmpty();
    }

    @Test
    void namingSomeoneElseIsImpersonatingThemWithTheNamedGroups() {
        Authority.Acting acting = Authority.acting(BOT, "alice@example.com", List.of("team-a", "ops"));

        assertThat(acting.requester()).isEqualTo(new Identity("alice@example.com",
                List.of("team-a", "ops", "system:authenticated")));
        assertThat(acting.impersonation()).containsExactly(
                new Permission("impersonate", "", "users", null, null, "alice@example.com"),
                new Permission("impersonate", "", "groups", null, null, "team-a"),
                new Permission("impersonate", "", "groups", null, null, "ops"));
    }

    @Test
    void namingItselfWithGroupsImpersonatesTheGroupsOnly() {
        Authority.Acting acting = Authority.acting(BOT, BOT.username(), List.of("team-a"));

        assertThat(acting.impersonation()).containsExactly(new Permission("impersonate", "", "groups", null, null,
                "team-a"));
        assertThat(acting.requester().groups()).containsExactly("team-a", "system:authenticated");
    }

    @Test
    void aServiceAccountIsImpersonatedAsAServiceAccountInItsNamespace() {
        Authority.Acting acting = Authority.acting(BOT, "system:serviceaccount:team-a:builder", List.of());

        assertThat(acting.impersonation()).containsExactly(new Permission("impersonate", "", "serviceaccounts", null,
                "team-a", "builder"));
        // the API server gives an impersonated ServiceAccount its groups when the request names none
        assertThat(acting.requester().groups()).containsExactly("system:serviceaccounts",
                "system:serviceaccounts:team-a", "system:authenticated");
        assertThat(Authority.acting(BOT, "system:serviceaccount:team-a:builder", List.of("team-b")).requester().groups())
                .containsExactly("team-b", "system:authenticated");
        assertThat(Authority.impersonateUser("system:serviceaccount:broken")).isEqualTo(
                new Permission("impersonate", "", "users", null, null, "system:serviceaccount:broken"));
    }

    @Test
    void withoutAProvenCallerTheRequestNamesTheRequester() {
        Authority.Acting acting = Authority.acting(null, "alice@example.com", List.of("team-a"));

        assertThat(acting.requester()).isEqualTo(new Identity("alice@example.com", List.of("team-a")));
        assertThat(acting.impersonation()).isEmpty();
    }

    @Test
    void readingTheAuditIsListingExportauditsInANamespaceOrEverywhere() {
        assertThat(Authority.toReadAudit("team-a")).isEqualTo(new Permission("list", "vm-export-guard.dev",
                "exportaudits", null, "team-a", null));
        assertThat(Authority.toReadAudit(null).toString()).isEqualTo("list exportaudits (vm-export-guard.dev) cluster-wide");
        assertThat(Authority.toReadAudit("team-a").toString())
                .isEqualTo("list exportaudits (vm-export-guard.dev) in namespace team-a");
    }
}
