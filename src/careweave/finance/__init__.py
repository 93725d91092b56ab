"""Finance: spend by setting and funder (:mod:`careweave.finance.spend`) and person-based
capitation (:mod:`careweave.finance.capitation`). Both price activity with the one cost
definition (:mod:`careweave.definitions.costs`) under the tariff
(:mod:`careweave.dataset.tariff`), which also says each activity's setting and funder."""
