"""Learning-loop metrics over the lessons a viewer may see."""
