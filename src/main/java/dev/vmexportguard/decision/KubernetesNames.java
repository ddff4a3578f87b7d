package dev.vmexportguard.decision;

import java.util.regex.Pattern;

/** Kubernetes naming rules, as the API server applies them. */
public final class KubernetesNames {
    private static final String LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
    private static final Pattern DNS1123_LABEL = Pattern.compile(LABEL);
    private static final Pattern DNS1123_SUBDOMAIN = Pattern.compile(LABEL + "(\\." + LABEL + ")*");
    private static final Pattern LABEL_VALUE = Pattern.compile("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");

    private KubernetesNames() {
    }

    public static boolean isDns1123Label(String s) {
        return s.length() <= 63 && DNS1123_LABEL.matcher(s).matches();
    }

    public static boolean isDns1123Subdomain(String s) {
        return s.length() <= 253 && DNS1123_SUBDOMAIN.matcher(s).matches();
    }

    /** A non-empty label value. */
    public static boolean isLabelValue(String s) {
        return s.length() <= 63 && LABEL_VALUE.matcher(s).matches();
    }
}
