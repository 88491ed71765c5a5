"""What a trained receptionist decides, as plain functions over plain data, shared by the offline engine and
the LLM engine: which visit a caller gets, when identity must be confirmed, how urgent a problem is, who a
caller is when they are not a patient."""
