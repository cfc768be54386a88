"""Canonical URLs and code systems used on the wire (PAS 2.2.1, X12, Subscriptions Backport)."""

from __future__ import annotations

from typing import Final

PAS: Final = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
PROFILE_CLAIM_RESPONSE: Final = PAS + "profile-claimresponse"
PROFILE_RESPONSE_BUNDLE: Final = PAS + "profile-pas-response-bundle"
PROFILE_INQUIRY_RESPONSE_BUNDLE: Final = PAS + "profile-pas-inquiry-response-bundle"
PROFILE_INQUIRY_RESPONSE: Final = PAS + "profile-claiminquiryresponse"

EXT_REVIEW_ACTION: Final = PAS + "extension-reviewAction"
EXT_REVIEW_ACTION_CODE: Final = PAS + "extension-reviewActionCode"
EXT_ITEM_PREAUTH_PERIOD: Final = PAS + "extension-itemPreAuthPeriod"
EXT_ITEM_PREAUTH_ISSUE_DATE: Final = PAS + "extension-itemPreAuthIssueDate"
EXT_AUTHORIZATION_NUMBER: Final = PAS + "extension-authorizationNumber"
EXT_ADMIN_REFERENCE_NUMBER: Final = PAS + "extension-administrationReferenceNumber"
EXT_REVIEWER: Final = PAS + "extension-claimResponseReviewer"
EXT_CERTIFICATION_TYPE: Final = PAS + "extension-certificationType"
EXT_INFO_CHANGED: Final = PAS + "extension-infoChanged"
EXT_INFO_CANCELLED: Final = PAS + "modifierextension-infoCancelled"

X12_306: Final = "https://codesystem.x12.org/005010/306"
X12_901: Final = "https://codesystem.x12.org/005010/901"
ADJUDICATION: Final = "http://terminology.hl7.org/CodeSystem/adjudication"
NPI: Final = "http://hl7.org/fhir/sid/us-npi"
LOINC: Final = "http://loinc.org"

# X12 306 review actions. "C" (cancelled) is an X12 value the IG cannot publish; we use it for
# items the provider cancelled.
REVIEW_ACTION_DISPLAY: Final = {
    "A1": "Certified in total",
    "A3": "Not Certified",
    "A4": "Pending",
    "A6": "Modified",
    "C": "Cancelled",
}

TOPIC_PAS: Final = "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic"
BACKPORT: Final = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
EXT_FILTER_CRITERIA: Final = BACKPORT + "backport-filter-criteria"
EXT_PAYLOAD_CONTENT: Final = BACKPORT + "backport-payload-content"
PROFILE_BACKPORT_STATUS: Final = BACKPORT + "backport-subscription-status-r4"

IDENT_CLAIM_RESPONSE: Final = "https://priorauth.dev/fhir/NamingSystem/claim-response"
IDENT_AUTHORIZATION: Final = "https://priorauth.dev/fhir/NamingSystem/authorization-number"
QUESTIONNAIRE_BASE: Final = "https://priorauth.dev/fhir/Questionnaire/"
# X12 Health Care Services Review Decision Reason Codes (external code list 886), for A3/A6 reasons.
X12_REVIEW_REASON = "https://codesystem.x12.org/external/886"
