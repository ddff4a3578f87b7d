package dev.vmexportguard.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** The guard's own settings ({@code guard.*}); each is listed in the README with its environment variable. */
@ConfigMapping(prefix = "guard")
public interface GuardConfig {

    Topics topics();

    Request request();

    Cluster cluster();

    Events events();

    /** Set in application.properties, where the Kafka channels refer to them. */
    interface Topics {
        String requests();

        String results();

        String deadLetter();
    }

    interface Request {
        /** Records larger than this are invalid. */
        @WithDefault("65536")
        int maxBytes();
    }

    interface Cluster {
        /** Attempts per API call when the API server times out, is unreachable or answers 5xx or 429. */
        @WithDefault("4")
        int maxAttempts();

        @WithDefault("250ms")
        Duration initialBackoff();

        @WithDefault("4s")
        Duration maxBackoff();
    }

    interface Events {
        /** The CloudEvents source of result events. */
        @WithDefault("/vm-export-guard")
        String source();

        /** Prefix of the CloudEvents type; the event type in lower case is appended. */
        @WithDefault("dev.vmexportguard.export")
        String typePrefix();
    }
}
