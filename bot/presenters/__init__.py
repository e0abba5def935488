"""The texts the assistant builds from data, one module per language (`en`; German and Swedish to follow).

Rasa renders its responses (domain.yml) with the variables an action passes; a presenter computes those
variables that are themselves sentences or formatted figures (a plan's schedule, why terms differ from what
was asked, a summary of what was recorded). Every presenter offers the same functions over the same data.
"""
