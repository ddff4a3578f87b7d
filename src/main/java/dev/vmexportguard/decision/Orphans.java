package dev.vmexportguard.decision;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Which of the objects the guard labelled in the cluster belong to no active export: an object is an orphan when no
 * export job names its request, or when its job ended without keeping it as its result. A COMPLETED export's image
 * is its result; the backups of an export that reported them ready ({@code BACKUP_READY}) are its results. Whatever
 * an export that has not ended has in the cluster is its own business (it is being followed, or removed).
 */
public final class Orphans {

    /** What the guard labels: the images it exports to, the backups it takes first. */
    public enum Kind {
        IMAGE("image", "VirtualMachineImage"),
        BACKUP("backup", "VirtualMachineBackup");

        private final String label;
        private final String kubernetesKind;

        Kind(String label, String kubernetesKind) {
            this.label = label;
            this.kubernetesKind = kubernetesKind;
        }

        /** The value of the metric's {@code kind} tag. */
        public String label() {
            return label;
        }

        public String kubernetesKind() {
            return kubernetesKind;
        }
    }

    /**
     * An object in the cluster carrying the guard's labels; {@code requestId} from its annotation (null when it has
     * none); {@code finished}: an image Harvester reports Imported, a backup ready to use.
     */
    public record GuardObject(Kind kind, String namespace, String name, String requestId, boolean finished) {
    }

    /**
     * What an export job says of the objects it made: whether it has ended, with which final event type
     * ({@code outcome}, null when not known), the image it followed and the backups it took.
     */
    public record Job(String requestId, String namespace, boolean ended, String outcome, String imageName,
                      List<String> backups, boolean backupsReady) {
    }

    /** An orphan, why it is one, and whether it is to be deleted. */
    public record Orphan(GuardObject object, String why, boolean delete) {
    }

    private Orphans() {
    }

    /**
     * The orphans among {@code objects}, given the jobs of their requests (by requestId; a request without an entry
     * has no job). With {@code deleteUnfinished}, an orphan that is not finished is to be deleted; a finished one
     * is only ever reported: it may be someone's image or backup by now.
     */
    public static List<Orphan> find(List<GuardObject> objects, Map<String, Job> jobs, boolean deleteUnfinished) {
        List<Orphan> orphans = new ArrayList<>();
        for (GuardObject object : objects) {
            String why = why(object, object.requestId() == null ? null : jobs.get(object.requestId()));
            if (why != null) {
                orphans.add(new Orphan(object, why, deleteUnfinished && !object.finished()));
            }
        }
        return orphans;
    }

    /** Why the object is an orphan, or null when it is not one. */
    static String why(GuardObject object, Job job) {
        if (object.requestId() == null) {
            return "it names no request";
        }
        if (job == null) {
            return "no export of request " + object.requestId() + " is known";
        }
        if (!job.ended()) {
            return null;
        }
        boolean sameNamespace = object.namespace().equals(job.namespace());
        String ended = "the export of request " + object.requestId() + " ended"
                + (job.outcome() == null ? "" : " " + job.outcome());
        return switch (object.kind()) {
            case IMAGE -> {
                boolean followed = sameNamespace && object.name().equals(job.imageName());
                // an export that ended before its outcome was recorded: its own image is left alone
                if (followed && (job.outcome() == null || EventType.COMPLETED.name().equals(job.outcome()))) {
                    yield null;
                }
                yield ended + (followed ? " without completing this image" : " without following this image");
            }
            case BACKUP -> {
                boolean taken = sameNamespace && job.backups().contains(object.name());
                if (taken && job.backupsReady()) {
                    yield null;
                }
                yield ended + (taken ? " before its backups were ready" : " without taking this backup");
            }
        };
    }
}
