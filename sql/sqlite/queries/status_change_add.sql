-- One change of a status-change call: ?1 job_id, ?2 status, ?3
-- error_message or NULL, and the effects of the new status from
-- jobtrack-core (Status::effects): ?4 starts_clock, ?5 terminal, ?6
-- success, ?7 clears_error_message. A call's job_ids are distinct (the
-- last update of a job wins before this).
INSERT INTO temp.job_status_change (job_id, status, error_message, starts_clock, terminal,
                                    success, clears_error_message)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
