from django import forms

from reviews.models import Review


class ReviewForm(forms.ModelForm):
    """The radiologist's decision. Agreement with the model is derived from it, never asked for."""

    # No blank "select an option" radio button: a finding is chosen, never defaulted.
    finding = forms.ChoiceField(choices=Review.Finding.choices, widget=forms.RadioSelect, label="Finding")

    class Meta:
        model = Review
        fields = ["finding", "patient_note", "internal_note"]
        widgets = {
            "patient_note": forms.Textarea(attrs={"rows": 4}),
            "internal_note": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "patient_note": "The patient reads this next to your finding: plain words, no abbreviations.",
        }
