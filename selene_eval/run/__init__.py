"""Running a judge over a study: plan, pilot sample, estimate, run (:mod:`selene_eval.run.runner`)."""
