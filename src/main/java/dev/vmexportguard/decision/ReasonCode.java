package dev.vmexportguard.decision;

/** Why a request was refused or an export failed. Every code is listed in the README. */
public enum ReasonCode {
    INVALID_REQUEST,
    REQUEST_ID_CONFLICT,
    VM_NOT_FOUND,
    VOLUME_NOT_FOUND,
    VOLUME_NOT_BOUND,
    VOLUME_NOT_ATTACHED_TO_VM,
    NO_EXPORTABLE_VOLUME,
    AMBIGUOUS_VOLUME,
    VM_RUNNING,
    VOLUME_IN_USE,
    IMAGE_NAME_TAKEN,
    IMAGE_CREATE_FAILED,
    CLUSTER_UNAVAILABLE,
    GUARD_NOT_AUTHORIZED,
    INTERNAL_ERROR
}
