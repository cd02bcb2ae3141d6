"""What the family tells us with an X-ray, and the two warnings that follow from it whatever the model says:

- the population warning: the model learned from children aged one to five (Kermany et al. 2018), so
  a reading outside that age, or of unknown age, may be wrong and goes to a radiologist;
- urgent-care signs: the danger signs of WHO's Integrated Management of Childhood Illness (IMCI) for a
  child with cough or difficult breathing, which call for care now, not for a computer reading.
"""

from __future__ import annotations

from django.db import models

TRAINED_FROM_MONTHS = 12  # first birthday
TRAINED_UNTIL_MONTHS = 71  # the day before the sixth birthday: "aged one to five"
IMCI_SOURCE = (
    "WHO Integrated Management of Childhood Illness (IMCI): danger signs in a child with cough or difficult breathing"
)


class Symptom(models.TextChoices):
    """The symptoms we ask about (the seed's list). The API's `symptoms` codes are these values."""

    COUGH = "cough", "Cough"
    FEVER = "fever", "Fever, sweats or chills"
    SHORT_OF_BREATH = "short_of_breath", "Shortness of breath or fast breathing"
    CHEST_PAIN = "chest_pain", "Chest pain when breathing or coughing"
    FATIGUE = "fatigue", "Tiredness"
    STOMACH = "stomach", "Nausea, vomiting or diarrhoea"
    LOW_TEMPERATURE = "low_temperature", "Unusually low temperature"
    CONFUSION = "confusion", "Confusion or unusual drowsiness"
    # IMCI's danger signs, asked as plain questions.
    CHEST_INDRAWING = "chest_indrawing", "The lower chest pulls in when breathing in"
    UNABLE_TO_DRINK = "unable_to_drink", "Not able to drink or breastfeed"
    VOMITS_EVERYTHING = "vomits_everything", "Vomits everything"
    CONVULSIONS = "convulsions", "Fits (convulsions)"
    LETHARGY = "lethargy", "Very sleepy, hard to wake, or unconscious"
    STRIDOR = "stridor", "A harsh noise when breathing in while calm (stridor)"


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
    signs = [Symptom(code).label for code in DANGER_SIGNS if code in set(symptoms or ())]
    limit = fast_breathing_limit(age_months)
    if limit is not None and breaths_per_minute is not None and breaths_per_minute >= limit:
        signs.append(f"Fast breathing for age ({breaths_per_minute} breaths a minute; fast from {limit})")
    return signs


def urgent_care(signs: list[str]) -> str | None:
    if not signs:
        return None
    return (
        "Seek medical care now: " + "; ".join(sign[0].lower() + sign[1:] for sign in signs) + " "
        + ("is a danger sign that needs" if len(signs) == 1 else "are danger signs that need")
        + f" a clinician today, whatever the computer reading says. Source: {IMCI_SOURCE}."
    )  # fmt: skip


def percent_words(probability: float) -> str:
    """A model's probability as people should read it: never a certain "0%" or "100%"."""
    if probability < 0.01:
        return "<1%"
    if probability > 0.99:
        return ">99%"
    return f"{round(probability * 100)}%"


def age_words(age_months: int | None) -> str:
    if age_months is None:
        return "age unknown"
    if age_months < 24:
        return f"{age_months} month{'s' if age_months != 1 else ''}"
    return f"{age_months // 12} years"


def describe_age(age_months: int) -> str:
    if age_months < 24:
        return f"{age_months}-month-old"
    return f"{age_months // 12}-year-old"


def is_outside_training_ages(age_months: int | None) -> bool:
    return age_months is None or not TRAINED_FROM_MONTHS <= age_months <= TRAINED_UNTIL_MONTHS


def population_warning(age_months: int | None) -> str | None:
    """A plain warning when the age at the X-ray is outside the model's training population, or unknown."""
    if not is_outside_training_ages(age_months):
        return None
    if age_months is None:
        return (
            "We do not know the age at this X-ray. This computer reading was made for children aged one to "
            "five; for anyone else it may be wrong \u2014 a radiologist will look at it."
        )
    return (
        "This computer reading was made for children aged one to five; for a "
        f"{describe_age(age_months)} it may be wrong \u2014 a radiologist will look at it."
    )


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
