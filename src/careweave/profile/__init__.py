"""Data profile of a dataset or warehouse: demographics, prevalence, activity, concentration (careweave profile)."""
