package dev.vmexportguard.support;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** One export at a time: the next one waits in the queue. Tests under it leave no export running. */
public class OneExportSlot implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("guard.exports.max-concurrent", "1");
    }
}
