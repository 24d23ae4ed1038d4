"""Review: policy steps 7-8, the case chronology, and audit."""
