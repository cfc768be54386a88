"""Da Vinci DTR 2.2: the policy's Questionnaire, its ValueSets and ``$questionnaire-package``."""
