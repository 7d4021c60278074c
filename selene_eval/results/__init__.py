"""A study's results as tables, between running a judge (:mod:`selene_eval.run`) and showing what it found
(:mod:`selene_eval.presentation`). Import names from their defining module (:mod:`selene_eval.results.table`)."""
