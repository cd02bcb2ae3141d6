"""What the family tells us with an X-ray, and the two warnings that follow from it whatever the model says:

- the population warning: the model learned from children aged one to five (Kermany et al. 2018), so
  a reading outside that age, or of unknown age, may be wrong and goes to a radiologist;
- urgent-care signs: the danger signs of WHO's Integrated Management of Childhood Illness (IMCI) for a
  child with cough or difficult breathing, which call for care now, not for a computer reading.
"""

from __future__ import annotations

from django.db import models
from django.utils import formats
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

TRAINED_FROM_MONTHS = 12  # first birthday
TRAINED_UNTIL_MONTHS = 71  # the day before the sixth birthday: "aged one to five"
# Translators: cite WHO's own title of IMCI in your language where it has one (e.g. AIEPI in Spanish,
# PCIME in French, AIDPI in Portuguese, 儿童疾病综合管理 in Chinese).
IMCI_SOURCE = _(
    "WHO Integrated Management of Childhood Illness (IMCI): danger signs in a child with cough or difficult breathing"
)


class Symptom(models.TextChoices):
    """The symptoms we ask about (the seed's list). The API's `symptoms` codes are these values."""

    COUGH = "cough", _("Cough")
    FEVER = "fever", _("Fever, sweats or chills")
    SHORT_OF_BREATH = "short_of_breath", _("Shortness of breath or fast breathing")
    CHEST_PAIN = "chest_pain", _("Chest pain when breathing or coughing")
    FATIGUE = "fatigue", _("Tiredness")
    STOMACH = "stomach", _("Nausea, vomiting or diarrhoea")
    LOW_TEMPERATURE = "low_temperature", _("Unusually low temperature")
    CONFUSION = "confusion", _("Confusion or unusual drowsiness")
    # IMCI's danger signs, asked as plain questions.
    # Translators: IMCI danger sign "chest indrawing", in words a parent uses; check WHO's IMCI translation.
    CHEST_INDRAWING = "chest_indrawing", _("The lower chest pulls in when breathing in")
    # Translators: IMCI danger sign "unable to drink or breastfeed".
    UNABLE_TO_DRINK = "unable_to_drink", _("Not able to drink or breastfeed")
    # Translators: IMCI danger sign "vomits everything".
    VOMITS_EVERYTHING = "vomits_everything", _("Vomits everything")
    # Translators: IMCI danger sign "convulsions"; the everyday word first, the medical one in brackets.
    CONVULSIONS = "convulsions", _("Fits (convulsions)")
    # Translators: IMCI danger sign "lethargic or unconscious".
    LETHARGY = "lethargy", _("Very sleepy, hard to wake, or unconscious")
    # Translators: IMCI sign "stridor in a calm child"; the everyday words first, the medical one in brackets.
    STRIDOR = "stridor", _("A harsh noise when breathing in while calm (stridor)")


DANGER_SIGNS = (
    Symptom.CHEST_INDRAWING,
    Symptom.UNABLE_TO_DRINK,
    Symptom.VOMITS_EVERYTHING,
    Symptom.CONVULSIONS,
    Symptom.LETHARGY,
    Symptom.STRIDOR,
    Symptom.CONFUSION,  # IMCI's "lethargic or unconscious", as the seed's list words it
)
EVERYDAY_SYMPTOMS = tuple(symptom for symptom in Symptom if symptom not in DANGER_SIGNS)


def fast_breathing_limit(age_months: int | None) -> int | None:
    """IMCI's breaths a minute from which breathing is fast for the child's age; None where IMCI has none."""
    if age_months is None or age_months >= 60:
        return None
    if age_months < 2:
        return 60
    return 50 if age_months < 12 else 40


def danger_signs(symptoms, breaths_per_minute: int | None, age_months: int | None) -> list[str]:
    """The danger signs reported, in words, fast breathing for age included."""
    signs = [str(Symptom(code).label) for code in DANGER_SIGNS if code in set(symptoms or ())]
    limit = fast_breathing_limit(age_months)
    if limit is not None and breaths_per_minute is not None and breaths_per_minute >= limit:
        # Translators: IMCI "fast breathing" for the child's age; breaths is the count the parent made,
        # limit IMCI's threshold (60 under 2 months, 50 to 11 months, 40 to 4 years).
        signs.append(
            gettext("Fast breathing for age (%(breaths)s breaths a minute; fast from %(limit)s)")
            % {"breaths": breaths_per_minute, "limit": limit}
        )
    return signs


def urgent_care(signs: list[str]) -> str | None:
    """One sentence naming every sign: the list joined in the language's way, whole sentence translated."""
    if not signs:
        return None
    # Translators: separates the danger signs in the urgent-care sentence (English "; ").
    separator = pgettext("list of danger signs", "; ")
    listed = separator.join(sign[0].lower() + sign[1:] for sign in signs)
    # Translators: the urgent-care panel (WHO IMCI). signs is one or more danger signs, each starting in
    # lower case; source is WHO's title of IMCI. An instruction to get care at once, not advice.
    sentence = ngettext(
        "Seek medical care now: %(signs)s is a danger sign that needs a clinician today, whatever the "
        "computer reading says. Source: %(source)s.",
        "Seek medical care now: %(signs)s are danger signs that need a clinician today, whatever the "
        "computer reading says. Source: %(source)s.",
        len(signs),
    )
    return sentence % {"signs": listed, "source": IMCI_SOURCE}


def percent_words(probability: float) -> str:
    """A model's probability as people should read it: never a certain "0%" or "100%"."""
    # Translators: a probability under 1%: never "0%", the model is never certain.
    if probability < 0.01:
        return gettext("<1%")
    # Translators: a probability over 99%: never "100%", the model is never certain.
    if probability > 0.99:
        return gettext(">99%")
    # Translators: a whole percentage, e.g. "82%" (French "82 %").
    return gettext("%(percent)s%%") % {"percent": formats.number_format(round(probability * 100))}


def age_words(age_months: int | None) -> str:
    if age_months is None:
        return gettext("age unknown")
    if age_months < 24:
        return ngettext("%(months)s month", "%(months)s months", age_months) % {"months": age_months}
    years = age_months // 12
    return ngettext("%(years)s year", "%(years)s years", years) % {"years": years}


def describe_age(age_months: int) -> str:
    if age_months < 24:
        # Translators: as in "for a 7-month-old it may be wrong".
        return ngettext("%(months)s-month-old", "%(months)s-month-old", age_months) % {"months": age_months}
    years = age_months // 12
    # Translators: as in "for a 7-year-old it may be wrong".
    return ngettext("%(years)s-year-old", "%(years)s-year-old", years) % {"years": years}


def is_outside_training_ages(age_months: int | None) -> bool:
    return age_months is None or not TRAINED_FROM_MONTHS <= age_months <= TRAINED_UNTIL_MONTHS


def population_warning(age_months: int | None) -> str | None:
    """A plain warning when the age at the X-ray is outside the model's training population, or unknown."""
    if not is_outside_training_ages(age_months):
        return None
    if age_months is None:
        return gettext(
            "We do not know the age at this X-ray. This computer reading was made for children aged one to "
            "five; for anyone else it may be wrong — a radiologist will look at it."
        )
    # Translators: age is e.g. "7-month-old" or "9-year-old" (see those strings).
    return gettext(
        "This computer reading was made for children aged one to five; for a %(age)s it may be wrong "
        "— a radiologist will look at it."
    ) % {"age": describe_age(age_months)}


# The bands agreement is monitored in (reviews.monitoring), in the order they are shown.
AGE_BANDS = ("under 1", "1 to 5", "6 to 17", "18 and over", "unknown")


def age_band_of(age_months_field: str) -> models.Case:
    """The age band of a row, computed in SQL from its age-in-months column: one to five is the training
    population (TRAINED_FROM_MONTHS to TRAINED_UNTIL_MONTHS)."""
    return models.Case(
        models.When(**{f"{age_months_field}__isnull": True}, then=models.Value("unknown")),
        models.When(**{f"{age_months_field}__lt": TRAINED_FROM_MONTHS}, then=models.Value("under 1")),
        models.When(**{f"{age_months_field}__lte": TRAINED_UNTIL_MONTHS}, then=models.Value("1 to 5")),
        models.When(**{f"{age_months_field}__lt": 18 * 12}, then=models.Value("6 to 17")),
        default=models.Value("18 and over"),
    )
