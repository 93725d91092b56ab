"""Care co-ordination: register, assessments, care plans, referrals, MDT, tasks, events and routing rules."""
