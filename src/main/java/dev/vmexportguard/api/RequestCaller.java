package dev.vmexportguard.api;

import dev.vmexportguard.decision.Identity;
import jakarta.enterprise.context.RequestScoped;

/** Who sent the HTTP request in hand, as its bearer token proved it. */
@RequestScoped
public class RequestCaller {
    private Identity identity;

    public Identity identity() {
        if (identity == null) {
            throw new IllegalStateException("no authenticated caller: the request did not pass the authentication");
        }
        return identity;
    }

    void set(Identity proven) {
        this.identity = proven;
    }
}
