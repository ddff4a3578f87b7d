package dev.vmexportguard.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vmexportguard.decision.Identity;
import dev.vmexportguard.service.ImageAdmission;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.annotations.Operation;

/**
 * The validating admission webhook for VirtualMachineImages ({@code admission.k8s.io/v1} AdmissionReviews, served
 * over HTTPS only): the API server asks before an image is created, and an export of a volume still in use is refused
 * with the guard's message, whoever starts it. Answers 400 to a body that is not an AdmissionReview; everything else
 * gets an AdmissionReview answer with the request's uid.
 */
@Path("/admission/virtualmachineimages")
public class AdmissionResource {
    static final String API_VERSION = "admission.k8s.io/v1";

    private final ImageAdmission admission;
    private final ObjectMapper json;

    public AdmissionResource(ImageAdmission admission, ObjectMapper json) {
        this.admission = admission;
        this.json = json;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(hidden = true)
    public Response review(@Context HttpServerRequest http, String body) {
        if (!http.isSSL()) {
            // the API server only calls webhooks over TLS; a plain-HTTP caller is not the API server
            return Problems.of(404, "Not found", "The admission webhook is served over HTTPS only.");
        }
        JsonNode review;
        try {
            review = json.readTree(body);
        } catch (Exception e) {
            return Problems.of(400, "Not an AdmissionReview", "The body is not JSON: " + e.getMessage());
        }
        JsonNode request = review == null ? null : review.path("request");
        if (review == null || !API_VERSION.equals(review.path("apiVersion").asText())
                || !"AdmissionReview".equals(review.path("kind").asText())
                || !request.isObject() || request.path("uid").asText().isBlank()) {
            return Problems.of(400, "Not an AdmissionReview",
                    "Send an " + API_VERSION + " AdmissionReview with a request and its uid.");
        }
        String uid = request.path("uid").asText();
        JsonNode resource = request.path("resource");
        if (!"CREATE".equals(request.path("operation").asText())
                || !"harvesterhci.io".equals(resource.path("group").asText())
                || !"virtualmachineimages".equals(resource.path("resource").asText())
                || !request.path("object").isObject()) {
            return Response.ok(answer(uid, ImageAdmission.Verdict.allow())).build();
        }
        JsonNode image = request.path("object");
        JsonNode metadata = image.path("metadata");
        JsonNode spec = image.path("spec");
        String namespace = text(metadata.path("namespace"), request.path("namespace").asText(null));
        ImageAdmission.ImageCreation creation = new ImageAdmission.ImageCreation(uid, creator(request.path("userInfo")),
                namespace, text(metadata.path("name"), text(metadata.path("generateName"), null)), labels(metadata),
                text(spec.path("sourceType"), null), text(spec.path("pvcNamespace"), namespace),
                text(spec.path("pvcName"), null), text(spec.path("displayName"), null),
                request.path("dryRun").asBoolean(false), request.toString());
        return Response.ok(answer(uid, admission.decide(creation))).build();
    }

    private ObjectNode answer(String uid, ImageAdmission.Verdict verdict) {
        ObjectNode review = json.createObjectNode();
        review.put("apiVersion", API_VERSION);
        review.put("kind", "AdmissionReview");
        ObjectNode response = review.putObject("response");
        response.put("uid", uid);
        response.put("allowed", verdict.allowed());
        if (!verdict.allowed()) {
            ObjectNode status = response.putObject("status");
            status.put("code", 403);
            status.put("reason", "Forbidden");
            status.put("message", verdict.message());
        }
        return review;
    }

    private static Identity creator(JsonNode userInfo) {
        List<String> groups = new ArrayList<>();
        userInfo.path("groups").forEach(g -> groups.add(g.asText()));
        return new Identity(userInfo.path("username").asText(""), List.copyOf(groups));
    }

    private static Map<String, String> labels(JsonNode metadata) {
        Map<String, String> labels = new LinkedHashMap<>();
        metadata.path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
        return labels;
    }

    private static String text(JsonNode node, String otherwise) {
        return node.isTextual() && !node.asText().isBlank() ? node.asText() : otherwise;
    }
}
