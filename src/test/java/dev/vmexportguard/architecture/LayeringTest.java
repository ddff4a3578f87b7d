package dev.vmexportguard.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.Test;

/**
 * Dependencies run one way: adapters in (REST, Kafka) → the decision path → the export lifecycle → the outbox →
 * the audit store and the cluster → the rules. The rules know no framework; fabric8 stays in the cluster package,
 * Kafka in the messaging package.
 */
class LayeringTest {
    private static final String ROOT = "dev.vmexportguard.";
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.vmexportguard");

    static final ArchRule layers = layeredArchitecture().consideringOnlyDependenciesInLayers()
            .layer("api").definedBy(ROOT + "api..")
            .layer("messaging").definedBy(ROOT + "messaging..")
            .layer("service").definedBy(ROOT + "service..")
            .layer("export").definedBy(ROOT + "export..")
            .layer("outbox").definedBy(ROOT + "outbox..")
            .layer("audit").definedBy(ROOT + "audit..")
            .layer("cluster").definedBy(ROOT + "cluster..")
            .layer("decision").definedBy(ROOT + "decision..")
            .layer("config").definedBy(ROOT + "config..")
            .layer("concurrent").definedBy(ROOT + "concurrent..")
            .whereLayer("api").mayNotBeAccessedByAnyLayer()
            .whereLayer("messaging").mayOnlyBeAccessedByLayers("api")
            .whereLayer("service").mayOnlyBeAccessedByLayers("api", "messaging")
            .whereLayer("export").mayOnlyBeAccessedByLayers("service")
            .whereLayer("outbox").mayOnlyBeAccessedByLayers("messaging", "service", "export")
            .whereLayer("audit").mayOnlyBeAccessedByLayers("api", "messaging", "service", "export", "outbox")
            .whereLayer("cluster").mayOnlyBeAccessedByLayers("service", "export", "outbox")
            .whereLayer("concurrent").mayOnlyBeAccessedByLayers("messaging", "export", "outbox")
            .whereLayer("decision").mayOnlyBeAccessedByLayers("api", "messaging", "service", "export", "outbox",
                    "audit", "cluster");

    static final ArchRule noCycles = slices().matching(ROOT + "(*)..").should().beFreeOfCycles();

    static final ArchRule decisionIsPlainJava = noClasses().that().resideInAPackage(ROOT + "decision..")
            .should().dependOnClassesThat().resideOutsideOfPackages(ROOT + "decision..", "java..")
            .because("the rules are plain Java: given a request and what was read, what is the answer");

    static final ArchRule fabric8OnlyInCluster = noClasses().that().resideOutsideOfPackage(ROOT + "cluster..")
            .should().dependOnClassesThat().resideInAPackage("io.fabric8..")
            .because("the Kubernetes client is an adapter: the rest of the guard speaks of what it read");

    static final ArchRule kafkaOnlyInMessaging = noClasses().that().resideOutsideOfPackage(ROOT + "messaging..")
            .should().dependOnClassesThat().resideInAnyPackage("org.apache.kafka..", "io.smallrye.reactive.messaging..",
                    "org.eclipse.microprofile.reactive.messaging..")
            .because("Kafka is an adapter: the outbox hands events to a ResultChannel");

    static final ArchRule persistenceOnlyInStores = noClasses().that()
            .resideInAnyPackage(ROOT + "api..", ROOT + "messaging..", ROOT + "cluster..", ROOT + "decision..")
            .should().dependOnClassesThat().resideInAnyPackage("jakarta.persistence..", "org.hibernate..")
            .because("only the audit log, the outbox and the export jobs talk to PostgreSQL");

    @Test
    void layers() {
        layers.check(MAIN);
    }

    @Test
    void noCycles() {
        noCycles.check(MAIN);
    }

    @Test
    void decisionIsPlainJava() {
        decisionIsPlainJava.check(MAIN);
    }

    @Test
    void fabric8OnlyInCluster() {
        fabric8OnlyInCluster.check(MAIN);
    }

    @Test
    void kafkaOnlyInMessaging() {
        kafkaOnlyInMessaging.check(MAIN);
    }

    @Test
    void persistenceOnlyInStores() {
        persistenceOnlyInStores.check(MAIN);
    }
}
