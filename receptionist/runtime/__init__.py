"""The composition root and the processes: services wired from the settings, the job worker and its jobs, `up`, the embedded Redis."""
