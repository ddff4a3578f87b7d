package dev.vmexportguard.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The guard's own settings ({@code guard.*}); each is listed in the README with its environment variable. */
@ConfigMapping(prefix = "guard")
public interface GuardConfig {

    Topics topics();

    Request request();

    Cluster cluster();

    Events events();

    Exports exports();

    Authorization authorization();

    Authentication authentication();

    Audit audit();

    Orphans orphans();

    Admission admission();

    /** The admission webhook that guards exports started outside the guard (Harvester's UI, kubectl). */
    interface Admission {
        /**
         * The guard's own user as the API server authenticates it: images it creates itself are admitted at once. The
         * ServiceAccount of {@code k8s/}; change it with the namespace or the ServiceAccount's name.
         */
        @WithDefault("system:serviceaccount:vm-export-guard:vm-export-guard")
        @NotBlank
        String guardUser();

        /**
         * How long the API calls of one admission decision may take together; past it the export is refused. Keep it
         * below the webhook's {@code timeoutSeconds} (5).
         */
        @WithDefault("3s")
        Duration decisionTimeout();
    }

    /**
     * The sweep of orphaned objects: images and backups carrying the guard's labels that belong to no active export
     * (no job, or a job that ended without keeping them as its result).
     */
    interface Orphans {
        /** How often the replica that leads looks for them. */
        @WithDefault("10m")
        Duration sweepInterval();

        /**
         * Whether an orphan that is not finished (an image not Imported, a backup not ready) is deleted; off, every
         * orphan is only reported (metric, log, Kubernetes Event). A finished one is never deleted.
         */
        @WithDefault("false")
        boolean deleteUnfinished();
    }

    Leadership leadership();

    /**
     * One replica at a time starts and follows exports: the holder of a Kubernetes Lease. The renew deadline must be
     * shorter than the lease duration: a leader that could not renew for that long stops acting, and only a lease
     * duration after its last renewal may another replica take the lease, so the difference is the margin between
     * one leader stopping and the next starting. A dead leader is replaced within the lease duration plus up to 2.2
     * retry periods (the attempts are jittered).
     */
    interface Leadership {
        /** The Lease's name. */
        @WithDefault("vm-export-guard-leader")
        @NotBlank
        String leaseName();

        /** The Lease's namespace; absent: the pod's own ({@code KUBERNETES_NAMESPACE}, else the service account's). */
        Optional<String> leaseNamespace();

        /** How long a lease not renewed stays valid: after it, another replica may take it. */
        @WithDefault("15s")
        Duration leaseDuration();

        /** A leader that could not renew its lease for this long stops acting; shorter than the lease duration. */
        @WithDefault("10s")
        Duration renewDeadline();

        /** How often the leader renews, and the others try to take the lease. */
        @WithDefault("2s")
        Duration retryPeriod();

        /** This replica's name in the lease; absent: the host name (the pod's name) and a random suffix. */
        Optional<String> identity();
    }

    interface Audit {
        /**
         * Audit rows that occurred longer ago are removed, by the role that migrates the schema (the owner), after
         * each migration; absent, the default, keeps every row forever.
         */
        Optional<Duration> retention();
    }

    /** How the guard learns who sends a request: the identity is proven, never taken from the request. */
    interface Authentication {
        /** What a Kafka record must carry. */
        enum KafkaMode {
            /** A bearer token in the {@code authorization} header, checked with a TokenReview. */
            TOKEN,
            /** Nothing: the topic's ACLs let only trusted producers write, and {@code requestedBy} is believed. */
            TRUSTED
        }

        @WithDefault("token")
        KafkaMode kafka();

        /**
         * The audiences a token on Kafka must be minted for (TokenReview {@code spec.audiences}): tokens stored in
         * a topic are then useless against the API server itself.
         */
        @WithDefault("vm-export-guard")
        List<String> kafkaAudiences();

        /** The audiences a token over HTTP may have; none (the default) means the API server's own. */
        Optional<List<String>> httpAudiences();

        /** How long a TokenReview's answer is reused for the same token (kept by a hash of it, never the token). */
        @WithDefault("10s")
        Duration cacheTtl();

        /** A request received over HTTP and put on the topic carries who sent it, sealed; older seals are refused. */
        @WithDefault("15m")
        Duration intakeMaxAge();
    }

    interface Authorization {
        /** How the guard checks that requestedBy may do what it asks for. */
        enum Mode {
            /** A SubjectAccessReview per permission: the requester's own Kubernetes rights apply. */
            SAR,
            /** No check: for trusted single-tenant setups only, where every requester may do everything. */
            NONE
        }

        @WithDefault("sar")
        Mode mode();

        /**
         * How long a SubjectAccessReview that allowed is reused for the same user, groups and permission, as the
         * API server's webhook authorizer reuses its answers; a right taken away counts after at most this long.
         * Zero asks every time.
         */
        @WithDefault("30s")
        Duration cacheAllowedTtl();

        /** How long a SubjectAccessReview that refused is reused; a right granted counts after at most this long. */
        @WithDefault("10s")
        Duration cacheDeniedTtl();
    }

    interface Exports {
        /** Exports running at once, across all replicas; more are queued. */
        @WithDefault("2")
        @Min(1)
        int maxConcurrent();

        /** An export running longer fails with EXPORT_TIMEOUT. */
        @WithDefault("6h")
        Duration timeout();

        /** Whether the unfinished image of a timed-out export is deleted. */
        @WithDefault("true")
        boolean deleteOnTimeout();

        /** VMs stopped for an export (onRunning STOP) that are not fully stopped by then fail it with STOP_TIMEOUT. */
        @WithDefault("10m")
        Duration stopTimeout();

        /** A backup taken first (backupFirst) that is not ready by then fails the export with BACKUP_FAILED. */
        @WithDefault("30m")
        Duration backupTimeout();

        /**
         * With restartAfter, how long after the export's end the guard waits for a VM it stopped to reach Stopped,
         * to start it again; a VM still not stopped by then gets RESTART_FAILED.
         */
        @WithDefault("10m")
        Duration restartDeadline();

        /** How often every running export is checked in full (VMs, pods, image, time), besides the watches. */
        @WithDefault("15s")
        Duration resyncInterval();

        /** How often waiting exports are looked at, besides when a request is accepted or an export ends. */
        @WithDefault("2s")
        Duration dispatchInterval();

        /**
         * Exports of different namespaces started at the same time (each start reads the namespace afresh, asks the
         * requester's rights, locks its VMs and creates its image); a namespace's starts still one after another.
         */
        @WithDefault("4")
        @Min(1)
        @Max(64)
        int startConcurrency();
    }

    /** Set in application.properties, where the Kafka channels refer to them. */
    interface Topics {
        @NotBlank
        String requests();

        @NotBlank
        String results();

        @NotBlank
        String deadLetter();
    }

    interface Request {
        /** Records larger than this are invalid. */
        @WithDefault("65536")
        @Min(1024)
        @Max(1048576)
        int maxBytes();

        /**
         * A record older than this (by its Kafka timestamp) is refused REQUEST_EXPIRED: a request that waited this
         * long is not acted on.
         */
        @WithDefault("15m")
        Duration maxAge();

        /**
         * The time the API calls made to decide one request may take together (TokenReview, SubjectAccessReviews,
         * the namespace's reads, their retries); once spent, the request is refused CLUSTER_UNAVAILABLE. Well under
         * the 60 s a Kafka record may wait by default, so that a slow API server delays requests, never stops the
         * consumer.
         */
        @WithDefault("30s")
        Duration decisionTimeout();

        /**
         * Requests decided at the same time. Requests for the same volume or VM (or with the same requestId) are
         * still decided one after another, in the order of the topic.
         */
        @WithDefault("4")
        @Min(1)
        @Max(64)
        int concurrency();

        /**
         * Records taken from the topic and not yet answered, at most: beyond, the consumer takes no more (Kafka
         * pauses the partitions), so memory stays bounded under a burst.
         */
        @WithDefault("64")
        @Min(1)
        @Max(10000)
        int maxInFlight();

        /**
         * Whether requests (and admission reviews) are decided on what the guard's watches show, with no API read,
         * while every watch is up: a refusal because something uses the volume stands on it, every other answer
         * is read again or checked again on the API server before anything is done. False reads the namespace from
         * the API server for every decision.
         */
        @WithDefault("true")
        boolean decideOnWatches();
    }

    interface Cluster {
        /** Attempts per API call when the API server times out, is unreachable or answers 5xx or 429. */
        @WithDefault("4")
        @Min(1)
        @Max(20)
        int maxAttempts();

        @WithDefault("250ms")
        Duration initialBackoff();

        @WithDefault("4s")
        Duration maxBackoff();
    }

    interface Events {
        /** The CloudEvents source of result events. */
        @WithDefault("/vm-export-guard")
        @NotBlank
        String source();

        /** Prefix of the CloudEvents type; the event type in lower case is appended. */
        @WithDefault("dev.vmexportguard.export")
        @NotBlank
        String typePrefix();

        /**
         * Where the result event's JSON Schema is published: {@code ce_dataschema} is this followed by the schema's
         * file name, which carries the contract's version ({@code export-result-v1.json}). An absolute URI ending in
         * {@code /}.
         */
        @WithDefault("https://vm-export-guard.dev/schemas/")
        @NotBlank
        String dataschemaBase();
    }
}
