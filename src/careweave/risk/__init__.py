"""Risk stratification and segmentation: features, models, calibration, explanations, tiers, segments."""
