package dev.vmexportguard.cluster;

import dev.vmexportguard.decision.ImagePlan;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Map;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * Creates an object the guard names after a request, when the answer to the create can be lost: the API server
 * may have stored it and then timed out, failed with a 5xx or dropped the connection. Such an answer means "may
 * exist": the object is looked for by name; if it is there and is the request's own (its labels name the request),
 * it is taken as created; if it is not there, the create is tried once more. A 409 for an object of the request's
 * own (a retry of a create that did store it) is a success too.
 */
final class OwnedCreate {
    private static final Logger LOG = Logger.getLogger(OwnedCreate.class);
    /** The create, with {@link ClusterCalls}' own attempts each time, and once more after a look that found nothing. */
    private static final int ROUNDS = 2;

    /** An object of that name exists and is not the request's: what the caller makes of it. */
    interface Taken {
        RuntimeException exception(String detail);
    }

    private OwnedCreate() {
    }

    static void run(ClusterCalls calls, ClusterOperation create, String name, String requestId, Supplier<?> createCall,
                    Supplier<GenericKubernetesResource> find, Taken taken) {
        ClusterOperation get = new ClusterOperation("get", create.resource(), create.namespace());
        for (int round = 1; ; round++) {
            try {
                calls.run(create, createCall);
                return;
            } catch (ClusterAccessException e) {
                if (e.status() != 409 && !e.outcomeUnknown()) {
                    throw e;
                }
                // a failure of this look leaves the outcome unknown: the caller ends the export and removes the
                // object if it turns up
                GenericKubernetesResource existing = calls.run(get, find);
                if (existing != null) {
                    if (ownedBy(existing, requestId)) {
                        if (e.status() != 409) {
                            LOG.warnf("%s/%s: the answer to the create was lost (%s), but it was created; following it",
                                    create.namespace(), name, e.getMessage());
                        }
                        return;
                    }
                    throw taken.exception(e.status() == 409 ? e.getMessage()
                            : create.namespace() + "/" + name + " exists and is not this request's");
                }
                if (e.status() == 409) {
                    // refused for another reason than this name (Harvester: the display name)
                    throw taken.exception(e.getMessage());
                }
                if (round >= ROUNDS) {
                    throw e;
                }
                LOG.warnf("%s/%s: the answer to the create was lost (%s), and it is not there; creating it again",
                        create.namespace(), name, e.getMessage());
            }
        }
    }

    /** Made by the guard for this request: the labels name the request (the annotation, on objects made earlier). */
    static boolean ownedBy(HasMetadata object, String requestId) {
        Map<String, String> labels = object.getMetadata().getLabels();
        Map<String, String> annotations = object.getMetadata().getAnnotations();
        if (labels == null || !KubernetesResources.MANAGED_BY_VALUE.equals(labels.get(KubernetesResources.LABEL_MANAGED_BY))) {
            return false;
        }
        return ImagePlan.requestHash(requestId).equals(labels.get(KubernetesResources.LABEL_REQUEST))
                || (annotations != null && requestId.equals(annotations.get(KubernetesResources.ANNOTATION_REQUEST_ID)));
    }
}
