//! The anchors: every check family of oasdiff (its `checker/check_*.go`
//! files, at commit `4553c69d`) and every rule of openapi-diff (its
//! `BackwardIncompatibleProp`, at commit `6ca25f4`), each answered by the
//! rules here that find the same changes, or by the reason it does not
//! apply to a client profile. `docs/compat-rules.md` prints the table.
//!
//! Judgements may differ where the profiles say why (oasdiff reports a
//! response's maxLength raised as breaking; for progenitor it is, for
//! array sizes it is not). A family answered by several rules is split by
//! direction here.

use crate::families::{
    bodies, composition, constraints, defaults, deprecation, enums, headers, keywords, objects,
    operations, parameters, responses, security, types,
};
use crate::rules::RuleId;

/// An anchor checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Anchored {
    Oasdiff,
    OpenapiDiff,
}

impl Anchored {
    pub fn name(self) -> &'static str {
        match self {
            Anchored::Oasdiff => "oasdiff",
            Anchored::OpenapiDiff => "openapi-diff",
        }
    }
}

/// What this checker has for an anchor's family.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// The rules that find its changes.
    Rules(&'static [RuleId]),
    /// Why it does not apply to a client profile.
    Why(&'static str),
}

#[derive(Clone, Copy, Debug)]
pub struct Anchor {
    pub checker: Anchored,
    /// The anchor's name for it.
    pub family: &'static str,
    pub answer: Answer,
}

use Anchored::{Oasdiff, OpenapiDiff};
use Answer::{Rules, Why};

/// Every family of both anchors.
pub static ANCHORS: &[Anchor] = &[
    Anchor {
        checker: Oasdiff,
        family: "added_required_request_body",
        answer: Rules(&[bodies::REQUEST_BODY_ADDED]),
    },
    Anchor { checker: Oasdiff, family: "api_added", answer: Rules(&[operations::OPERATION_ADDED]) },
    Anchor {
        checker: Oasdiff,
        family: "api_deprecation",
        answer: Rules(&[deprecation::BECAME_DEPRECATED, deprecation::NO_LONGER_DEPRECATED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "api_operation_id_updated",
        answer: Rules(&[operations::OPERATION_ID_CHANGED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "api_removed",
        answer: Rules(&[operations::OPERATION_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "api_security_updated",
        answer: Rules(&[
            security::SECURITY_REQUIRED,
            security::SECURITY_NO_LONGER_REQUIRED,
            security::SECURITY_REQUIREMENT_REMOVED,
            security::SECURITY_REQUIREMENT_ADDED,
            security::SECURITY_SCOPES_ADDED,
            security::SECURITY_SCOPES_REMOVED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "api_stability_level",
        answer: Why(
            "`x-stability-level` is an extension of oasdiff's, not OpenAPI: generated clients do not read it",
        ),
    },
    Anchor {
        checker: Oasdiff,
        family: "api_sunset_changed",
        answer: Why(
            "`x-sunset` is an extension of oasdiff's deprecation policy, not OpenAPI; deprecation itself is `became-deprecated`",
        ),
    },
    Anchor {
        checker: Oasdiff,
        family: "api_tag_updated",
        answer: Rules(&[operations::OPERATION_TAGS_CHANGED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "components_schemas_removed",
        answer: Why(
            "a component no operation refers to is no part of what clients send or read; one that is referred to is compared where it is used, structurally, so removing or renaming the component itself changes nothing on the wire",
        ),
    },
    Anchor {
        checker: Oasdiff,
        family: "components_security_updated",
        answer: Rules(&[
            security::SECURITY_SCHEME_TYPE_CHANGED,
            security::SECURITY_SCHEME_API_KEY_CHANGED,
            security::SECURITY_SCHEME_HTTP_SCHEME_CHANGED,
            security::SECURITY_SCHEME_BEARER_FORMAT_CHANGED,
            security::SECURITY_SCHEME_OAUTH_FLOW_REMOVED,
            security::SECURITY_SCHEME_OAUTH_FLOW_ADDED,
            security::SECURITY_SCHEME_OAUTH_URL_CHANGED,
            security::SECURITY_SCHEME_SCOPE_REMOVED,
            security::SECURITY_SCHEME_SCOPE_ADDED,
            security::SECURITY_SCHEME_OPENID_URL_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "media_type_schema_existence",
        answer: Rules(&[bodies::MEDIA_TYPE_SCHEMA_ADDED, bodies::MEDIA_TYPE_SCHEMA_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "new_request_non_path_default_parameter",
        answer: Rules(&[
            parameters::PARAMETER_ADDED_REQUIRED,
            parameters::PARAMETER_ADDED_OPTIONAL,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "new_request_non_path_parameter",
        answer: Rules(&[
            parameters::PARAMETER_ADDED_REQUIRED,
            parameters::PARAMETER_ADDED_OPTIONAL,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "new_requried_request_header_property",
        answer: Rules(&[objects::PROPERTY_ADDED_REQUIRED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "property_stability_level",
        answer: Why(
            "`x-stability-level` is an extension of oasdiff's, not OpenAPI: generated clients do not read it",
        ),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_body_became_enum",
        answer: Rules(&[enums::ENUM_ADDED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_body_enum_deleted",
        answer: Rules(&[enums::REQUEST_ENUM_VALUE_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_body_mediatype_updated",
        answer: Rules(&[bodies::MEDIA_TYPE_REMOVED, bodies::MEDIA_TYPE_ADDED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_body_removed",
        answer: Rules(&[bodies::REQUEST_BODY_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_body_required_value_updated",
        answer: Rules(&[
            bodies::REQUEST_BODY_BECAME_REQUIRED,
            bodies::REQUEST_BODY_BECAME_OPTIONAL,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_discriminator_updated",
        answer: Rules(&[
            composition::DISCRIMINATOR_CHANGED,
            composition::DISCRIMINATOR_MAPPING_ADDED,
            composition::DISCRIMINATOR_MAPPING_CHANGED,
            composition::DISCRIMINATOR_MAPPING_REMOVED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_header_property_became_enum",
        answer: Rules(&[enums::ENUM_ADDED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_header_property_became_required",
        answer: Rules(&[objects::PROPERTY_BECAME_REQUIRED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameter_became_enum",
        answer: Rules(&[enums::ENUM_ADDED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameter_became_nullable",
        answer: Rules(&[types::NULLABLE_ADDED, types::NULLABLE_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameter_deprecation",
        answer: Rules(&[deprecation::BECAME_DEPRECATED, deprecation::NO_LONGER_DEPRECATED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameter_enum_value_updated",
        answer: Rules(&[enums::REQUEST_ENUM_VALUE_ADDED, enums::REQUEST_ENUM_VALUE_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameter_list_of_types_changed",
        answer: Rules(&[types::TYPE_WIDENED, types::TYPE_NARROWED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameter_pattern_added_or_changed",
        answer: Rules(&[constraints::PATTERN_CHANGED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameter_removed",
        answer: Rules(&[parameters::PARAMETER_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameter_required_value_updated",
        answer: Rules(&[
            parameters::PARAMETER_BECAME_REQUIRED,
            parameters::PARAMETER_BECAME_OPTIONAL,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameter_sunset_changed",
        answer: Why(
            "`x-sunset` is an extension of oasdiff's deprecation policy, not OpenAPI; deprecation itself is `became-deprecated`",
        ),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameter_x_extensible_enum_value_removed",
        answer: Rules(&[enums::EXTENSIBLE_ENUM_VALUE_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameters_default_value_changed",
        answer: Rules(&[defaults::DEFAULT_CHANGED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameters_max_items_updated",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED, constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameters_max_length_set",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameters_max_length_updated",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED, constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameters_max_set",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameters_max_updated",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED, constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameters_min_items_set",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameters_min_items_updated",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED, constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameters_min_length_updated",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED, constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameters_min_set",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameters_min_updated",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED, constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_parameters_type_changed",
        answer: Rules(&[
            types::TYPE_CHANGED,
            types::TYPE_WIDENED,
            types::TYPE_NARROWED,
            types::INTEGER_WIDENED,
            types::INTEGER_NARROWED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_path_parameter_added",
        answer: Rules(&[operations::OPERATION_REMOVED, operations::OPERATION_ADDED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_all_of_updated",
        answer: Rules(&[composition::ALL_OF_CHANGED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_any_of_updated",
        answer: Rules(&[
            composition::VARIANT_ADDED,
            composition::VARIANT_REMOVED,
            composition::VARIANTS_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_became_enum",
        answer: Rules(&[enums::ENUM_ADDED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_became_not_nuallable",
        answer: Rules(&[types::NULLABLE_ADDED, types::NULLABLE_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_const_changed",
        answer: Rules(&[
            enums::ENUM_ADDED,
            enums::ENUM_REMOVED,
            enums::REQUEST_ENUM_VALUE_ADDED,
            enums::REQUEST_ENUM_VALUE_REMOVED,
            enums::RESPONSE_ENUM_VALUE_ADDED,
            enums::RESPONSE_ENUM_VALUE_REMOVED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_contains_updated",
        answer: Rules(&[
            keywords::KEYWORD_ADDED,
            keywords::KEYWORD_REMOVED,
            constraints::CONSTRAINT_TIGHTENED,
            constraints::CONSTRAINT_LOOSENED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_content_updated",
        answer: Why(
            "`contentSchema`, `contentMediaType` and `contentEncoding` are annotations in JSON Schema 2020-12 (its content vocabulary asserts nothing by default): no value is accepted or refused differently",
        ),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_default_value_changed",
        answer: Rules(&[defaults::DEFAULT_CHANGED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_dependent_required_changed",
        answer: Rules(&[
            keywords::KEYWORD_ADDED,
            keywords::KEYWORD_REMOVED,
            keywords::KEYWORD_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_dependent_schemas_updated",
        answer: Rules(&[
            keywords::KEYWORD_ADDED,
            keywords::KEYWORD_REMOVED,
            keywords::KEYWORD_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_deprecation",
        answer: Rules(&[deprecation::BECAME_DEPRECATED, deprecation::NO_LONGER_DEPRECATED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_enum_value_updated",
        answer: Rules(&[enums::REQUEST_ENUM_VALUE_ADDED, enums::REQUEST_ENUM_VALUE_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_if_updated",
        answer: Rules(&[
            keywords::KEYWORD_ADDED,
            keywords::KEYWORD_REMOVED,
            keywords::KEYWORD_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_list_of_types_changed",
        answer: Rules(&[types::TYPE_WIDENED, types::TYPE_NARROWED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_max_length_set",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_max_length_updated",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED, constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_max_set",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_max_updated",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED, constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_min_items_increased",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_min_items_set",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_min_length_updated",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED, constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_min_set",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_min_updated",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED, constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_one_of_updated",
        answer: Rules(&[
            composition::VARIANT_ADDED,
            composition::VARIANT_REMOVED,
            composition::VARIANTS_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_pattern_added_or_changed",
        answer: Rules(&[constraints::PATTERN_CHANGED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_pattern_properties_updated",
        answer: Rules(&[
            keywords::KEYWORD_ADDED,
            keywords::KEYWORD_REMOVED,
            keywords::KEYWORD_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_prefix_items_updated",
        answer: Rules(&[
            keywords::KEYWORD_ADDED,
            keywords::KEYWORD_REMOVED,
            keywords::KEYWORD_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_property_names_updated",
        answer: Rules(&[keywords::KEYWORD_ADDED, keywords::KEYWORD_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_required_updated",
        answer: Rules(&[objects::PROPERTY_BECAME_REQUIRED, objects::PROPERTY_BECAME_OPTIONAL]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_type_changed",
        answer: Rules(&[
            types::TYPE_CHANGED,
            types::TYPE_WIDENED,
            types::TYPE_NARROWED,
            types::INTEGER_WIDENED,
            types::INTEGER_NARROWED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_unevaluated_updated",
        answer: Rules(&[keywords::KEYWORD_ADDED, keywords::KEYWORD_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_updated",
        answer: Rules(&[
            objects::PROPERTY_REMOVED,
            objects::PROPERTY_ADDED_REQUIRED,
            objects::PROPERTY_ADDED_OPTIONAL,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_write_only_read_only",
        answer: Rules(&[
            objects::PROPERTY_BECAME_READ_ONLY,
            objects::PROPERTY_NO_LONGER_READ_ONLY,
            objects::PROPERTY_BECAME_WRITE_ONLY,
            objects::PROPERTY_NO_LONGER_WRITE_ONLY,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "request_property_x_extensible_enum_value_removed",
        answer: Rules(&[enums::EXTENSIBLE_ENUM_VALUE_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_discriminator_updated",
        answer: Rules(&[
            composition::DISCRIMINATOR_CHANGED,
            composition::DISCRIMINATOR_MAPPING_ADDED,
            composition::DISCRIMINATOR_MAPPING_CHANGED,
            composition::DISCRIMINATOR_MAPPING_REMOVED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_header_added",
        answer: Rules(&[headers::RESPONSE_HEADER_ADDED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_header_became_nullable",
        answer: Rules(&[types::NULLABLE_ADDED, types::NULLABLE_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_header_became_optional",
        answer: Rules(&[headers::RESPONSE_HEADER_BECAME_OPTIONAL]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_header_removed",
        answer: Rules(&[headers::RESPONSE_HEADER_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_header_type_changed",
        answer: Rules(&[
            types::TYPE_CHANGED,
            types::TYPE_WIDENED,
            types::TYPE_NARROWED,
            types::INTEGER_WIDENED,
            types::INTEGER_NARROWED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_mediatype_enum_value_removed",
        answer: Rules(&[enums::RESPONSE_ENUM_VALUE_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_mediatype_name_updated",
        answer: Rules(&[bodies::MEDIA_TYPE_REMOVED, bodies::MEDIA_TYPE_ADDED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_mediatype_updated",
        answer: Rules(&[bodies::MEDIA_TYPE_REMOVED, bodies::MEDIA_TYPE_ADDED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_optional_property_updated",
        answer: Rules(&[objects::PROPERTY_REMOVED, objects::PROPERTY_ADDED_OPTIONAL]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_optional_property_write_only_read_only",
        answer: Rules(&[
            objects::PROPERTY_BECAME_READ_ONLY,
            objects::PROPERTY_NO_LONGER_READ_ONLY,
            objects::PROPERTY_BECAME_WRITE_ONLY,
            objects::PROPERTY_NO_LONGER_WRITE_ONLY,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_pattern_added_or_changed",
        answer: Rules(&[constraints::PATTERN_CHANGED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_all_of_updated",
        answer: Rules(&[composition::ALL_OF_CHANGED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_any_of_updated",
        answer: Rules(&[
            composition::VARIANT_ADDED,
            composition::VARIANT_REMOVED,
            composition::VARIANTS_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_became_nuallable",
        answer: Rules(&[types::NULLABLE_ADDED, types::NULLABLE_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_became_optional",
        answer: Rules(&[objects::PROPERTY_BECAME_OPTIONAL]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_became_required",
        answer: Rules(&[objects::PROPERTY_BECAME_REQUIRED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_const_changed",
        answer: Rules(&[
            enums::ENUM_ADDED,
            enums::ENUM_REMOVED,
            enums::REQUEST_ENUM_VALUE_ADDED,
            enums::REQUEST_ENUM_VALUE_REMOVED,
            enums::RESPONSE_ENUM_VALUE_ADDED,
            enums::RESPONSE_ENUM_VALUE_REMOVED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_contains_updated",
        answer: Rules(&[
            keywords::KEYWORD_ADDED,
            keywords::KEYWORD_REMOVED,
            constraints::CONSTRAINT_TIGHTENED,
            constraints::CONSTRAINT_LOOSENED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_content_updated",
        answer: Why(
            "`contentSchema`, `contentMediaType` and `contentEncoding` are annotations in JSON Schema 2020-12 (its content vocabulary asserts nothing by default): no value is accepted or refused differently",
        ),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_default_value_changed",
        answer: Rules(&[defaults::DEFAULT_CHANGED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_dependent_required_changed",
        answer: Rules(&[
            keywords::KEYWORD_ADDED,
            keywords::KEYWORD_REMOVED,
            keywords::KEYWORD_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_dependent_schemas_updated",
        answer: Rules(&[
            keywords::KEYWORD_ADDED,
            keywords::KEYWORD_REMOVED,
            keywords::KEYWORD_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_deprecation",
        answer: Rules(&[deprecation::BECAME_DEPRECATED, deprecation::NO_LONGER_DEPRECATED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_enum_value_added",
        answer: Rules(&[enums::RESPONSE_ENUM_VALUE_ADDED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_enum_value_removed",
        answer: Rules(&[enums::RESPONSE_ENUM_VALUE_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_if_updated",
        answer: Rules(&[
            keywords::KEYWORD_ADDED,
            keywords::KEYWORD_REMOVED,
            keywords::KEYWORD_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_list_of_types_changed",
        answer: Rules(&[types::TYPE_WIDENED, types::TYPE_NARROWED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_max_increased",
        answer: Rules(&[constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_max_length_increased",
        answer: Rules(&[constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_max_length_unset",
        answer: Rules(&[constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_min_decreased",
        answer: Rules(&[constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_min_items_decreased",
        answer: Rules(&[constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_min_items_unset",
        answer: Rules(&[constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_min_length_decreased",
        answer: Rules(&[constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_one_of_updated",
        answer: Rules(&[
            composition::VARIANT_ADDED,
            composition::VARIANT_REMOVED,
            composition::VARIANTS_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_pattern_properties_updated",
        answer: Rules(&[
            keywords::KEYWORD_ADDED,
            keywords::KEYWORD_REMOVED,
            keywords::KEYWORD_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_prefix_items_updated",
        answer: Rules(&[
            keywords::KEYWORD_ADDED,
            keywords::KEYWORD_REMOVED,
            keywords::KEYWORD_CHANGED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_property_names_updated",
        answer: Rules(&[keywords::KEYWORD_ADDED, keywords::KEYWORD_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_type_changed",
        answer: Rules(&[
            types::TYPE_CHANGED,
            types::TYPE_WIDENED,
            types::TYPE_NARROWED,
            types::INTEGER_WIDENED,
            types::INTEGER_NARROWED,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_property_unevaluated_updated",
        answer: Rules(&[keywords::KEYWORD_ADDED, keywords::KEYWORD_REMOVED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_required_property_updated",
        answer: Rules(&[objects::PROPERTY_REMOVED, objects::PROPERTY_ADDED_REQUIRED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_required_property_write_only_read_only",
        answer: Rules(&[
            objects::PROPERTY_BECAME_READ_ONLY,
            objects::PROPERTY_NO_LONGER_READ_ONLY,
            objects::PROPERTY_BECAME_WRITE_ONLY,
            objects::PROPERTY_NO_LONGER_WRITE_ONLY,
        ]),
    },
    Anchor {
        checker: Oasdiff,
        family: "response_status_updated",
        answer: Rules(&[responses::RESPONSE_STATUS_REMOVED, responses::RESPONSE_STATUS_ADDED]),
    },
    Anchor {
        checker: Oasdiff,
        family: "webhook_updated",
        answer: Why(
            "webhooks are requests the API sends to receivers its users run: no client of the API calls them (progenitor generates nothing for them), and a receiver's compatibility runs the other way",
        ),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "EXTENSION_CONTENT_TYPES_DECREASED",
        answer: Why(
            "vendor extensions (`x-…`) mean only what a tool makes of them; of those, this checker reads the one that changes what clients accept, `x-extensible-enum` (`extensible-enum-value-*`)",
        ),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "EXTENSION_CONTENT_TYPE_DELETED",
        answer: Why(
            "vendor extensions (`x-…`) mean only what a tool makes of them; of those, this checker reads the one that changes what clients accept, `x-extensible-enum` (`extensible-enum-value-*`)",
        ),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "OPENAPI_ENDPOINTS_DECREASED",
        answer: Rules(&[operations::OPERATION_REMOVED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "OPERATION_ID_CHANGED",
        answer: Rules(&[operations::OPERATION_ID_CHANGED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_BODY_REQUIRED_INCREASED",
        answer: Rules(&[bodies::REQUEST_BODY_BECAME_REQUIRED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_CONTENT_DECREASED",
        answer: Rules(&[bodies::MEDIA_TYPE_REMOVED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_ENUM_DECREASED",
        answer: Rules(&[enums::REQUEST_ENUM_VALUE_REMOVED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_MAX_LENGTH_DECREASED",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_MIN_LENGTH_INCREASED",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_NUMERIC_RANGE_DECREASED",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_ONEOF_DECREASED",
        answer: Rules(&[composition::VARIANT_REMOVED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_PARAM_ALLOWEMPTY_DECREASED",
        answer: Rules(&[parameters::PARAMETER_EMPTY_VALUE_REFUSED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_PARAM_EXPLODE_CHANGED",
        answer: Rules(&[parameters::PARAMETER_STYLE_CHANGED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_PARAM_STYLE_CHANGED",
        answer: Rules(&[parameters::PARAMETER_STYLE_CHANGED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_PARAMS_DECREASED",
        answer: Rules(&[parameters::PARAMETER_REMOVED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_PARAMS_REQUIRED_INCREASED",
        answer: Rules(&[
            parameters::PARAMETER_BECAME_REQUIRED,
            parameters::PARAMETER_ADDED_REQUIRED,
        ]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_READONLY_INCREASED",
        answer: Rules(&[objects::PROPERTY_BECAME_READ_ONLY]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_READONLY_REQUIRED_DECREASED",
        answer: Rules(&[objects::PROPERTY_NO_LONGER_READ_ONLY]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "REQUEST_REQUIRED_INCREASED",
        answer: Rules(&[objects::PROPERTY_BECAME_REQUIRED, objects::PROPERTY_ADDED_REQUIRED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_CONTENT_DECREASED",
        answer: Rules(&[bodies::MEDIA_TYPE_REMOVED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_ENUM_INCREASED",
        answer: Rules(&[enums::RESPONSE_ENUM_VALUE_ADDED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_HEADER_EXPLODE_CHANGED",
        answer: Rules(&[headers::RESPONSE_HEADER_STYLE_CHANGED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_HEADER_REQUIRED_DECREASED",
        answer: Rules(&[headers::RESPONSE_HEADER_BECAME_OPTIONAL]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_HEADER_REQUIRED_INCREASED",
        answer: Rules(&[headers::RESPONSE_HEADER_BECAME_REQUIRED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_HEADERS_DECREASED",
        answer: Rules(&[headers::RESPONSE_HEADER_REMOVED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_MAX_LENGTH_INCREASED",
        answer: Rules(&[constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_MIN_LENGTH_INCREASED",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_NUMERIC_RANGE_INCREASED",
        answer: Rules(&[constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_ONEOF_INCREASED",
        answer: Rules(&[composition::VARIANT_ADDED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_REQUIRED_DECREASED",
        answer: Rules(&[objects::PROPERTY_BECAME_OPTIONAL, objects::PROPERTY_REMOVED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_RESPONSES_DECREASED",
        answer: Rules(&[responses::RESPONSE_STATUS_REMOVED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_WRITEONLY_INCREASED",
        answer: Rules(&[objects::PROPERTY_BECAME_WRITE_ONLY]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "RESPONSE_WRITEONLY_REQUIRED_DECREASED",
        answer: Rules(&[objects::PROPERTY_BECAME_WRITE_ONLY]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "SECURITY_REQUIREMENT_SCHEMES_INCREASED",
        answer: Rules(&[
            security::SECURITY_REQUIREMENT_REMOVED,
            security::SECURITY_REQUIREMENT_ADDED,
        ]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "SECURITY_REQUIREMENTS_DECREASED",
        answer: Rules(&[security::SECURITY_REQUIREMENT_REMOVED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "SECURITY_SCHEME_BEARER_FORMAT_CHANGED",
        answer: Rules(&[security::SECURITY_SCHEME_BEARER_FORMAT_CHANGED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "SECURITY_SCHEME_OPENIDCONNECT_URL_CHANGED",
        answer: Rules(&[security::SECURITY_SCHEME_OPENID_URL_CHANGED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "SECURITY_SCHEME_SCHEME_CHANGED",
        answer: Rules(&[security::SECURITY_SCHEME_HTTP_SCHEME_CHANGED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "SECURITY_SCHEME_SCOPES_INCREASED",
        answer: Rules(&[security::SECURITY_SCOPES_ADDED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "SCHEMA_DISCRIMINATOR_CHANGED",
        answer: Rules(&[
            composition::DISCRIMINATOR_CHANGED,
            composition::DISCRIMINATOR_MAPPING_ADDED,
            composition::DISCRIMINATOR_MAPPING_CHANGED,
            composition::DISCRIMINATOR_MAPPING_REMOVED,
        ]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "SCHEMA_PATTERN_CHANGED",
        answer: Rules(&[constraints::PATTERN_CHANGED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "SCHEMA_MIN_PROPERTIES_CHANGED",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED, constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "SCHEMA_MAX_PROPERTIES_CHANGED",
        answer: Rules(&[constraints::CONSTRAINT_TIGHTENED, constraints::CONSTRAINT_LOOSENED]),
    },
    Anchor {
        checker: OpenapiDiff,
        family: "SCHEMA_TYPE_CHANGED",
        answer: Rules(&[
            types::TYPE_CHANGED,
            types::TYPE_WIDENED,
            types::TYPE_NARROWED,
            types::INTEGER_WIDENED,
            types::INTEGER_NARROWED,
        ]),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_of_both_anchors_is_answered_once() {
        let count = |c| ANCHORS.iter().filter(|a| a.checker == c).count();
        // oasdiff's check files and openapi-diff's rules at the commits named.
        assert_eq!(count(Oasdiff), 126);
        assert_eq!(count(OpenapiDiff), 44);
        let mut seen = std::collections::BTreeSet::new();
        for anchor in ANCHORS {
            assert!(seen.insert((anchor.checker, anchor.family)), "{} twice", anchor.family);
            match anchor.answer {
                Rules(rules) => assert!(!rules.is_empty(), "{}: no rule", anchor.family),
                Why(why) => assert!(why.len() > 40, "{}: no reason", anchor.family),
            }
        }
    }
}
