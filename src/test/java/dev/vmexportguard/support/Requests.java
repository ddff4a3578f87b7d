package dev.vmexportguard.support;

import java.util.UUID;

/** Export requests as a chat-ops bot would write them. */
public final class Requests {
    private Requests() {
    }

    public static String newRequestId() {
        return "req-" + UUID.randomUUID();
    }

    public static String request(String requestId, String ns, String vmName, String volumeName) {
        StringBuilder json = new StringBuilder("{\"requestId\":\"" + requestId + "\",\"namespace\":\"" + ns + "\"");
        if (vmName != null) {
            json.append(",\"vmName\":\"").append(vmName).append('"');
        }
        if (volumeName != null) {
            json.append(",\"volumeName\":\"").append(volumeName).append('"');
        }
        return json.append(",\"requestedBy\":\"alice@example.com\",\"replyTo\":\"slack:C024BE91L/1712345.000100\"}")
                .toString();
    }
}
