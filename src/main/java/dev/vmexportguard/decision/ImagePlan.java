package dev.vmexportguard.decision;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;

/** The VirtualMachineImage the guard creates for an approved request. */
public record ImagePlan(
        String namespace,
        String name,
        String displayName,
        String pvcName,
        String storageClassName,
        String requestId,
        String requestHash,
        String requestedBy) {

    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);
    private static final int MAX_DISPLAY_NAME = 63;

    public static ImagePlan of(ExportRequest request, ClusterSnapshot.Volume volume, Instant now) {
        String storageClass = request.storageClassName() != null ? request.storageClassName() : volume.storageClassName();
        String displayName = request.imageDisplayName() != null
                ? request.imageDisplayName()
                : defaultDisplayName(volume.name(), now);
        return new ImagePlan(request.namespace(), imageName(request.requestId()), displayName, volume.name(),
                storageClass, request.requestId(), requestHash(request.requestId()), request.requestedBy());
    }

    /** Deterministic, so that a redelivered request finds the image it already created. */
    public static String imageName(String requestId) {
        return "vmexport-" + sha256(requestId).substring(0, 20);
    }

    /** Label-safe stand-in for the requestId, which may contain ':' and be longer than a label value. */
    public static String requestHash(String requestId) {
        return sha256(requestId).substring(0, 40);
    }

    /** {@code <volume>-<yyyyMMdd-HHmmss>} in UTC, the volume part shortened to keep it a valid label value. */
    static String defaultDisplayName(String volumeName, Instant now) {
        String suffix = "-" + STAMP.format(now);
        String base = volumeName;
        int room = MAX_DISPLAY_NAME - suffix.length();
        if (base.length() > room) {
            base = base.substring(0, room);
        }
        while (!base.isEmpty() && !Character.isLetterOrDigit(base.charAt(base.length() - 1))) {
            base = base.substring(0, base.length() - 1);
        }
        return base + suffix;
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
