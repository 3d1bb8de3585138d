-- Empties the working table at the end of a status-change call.
DELETE FROM temp.job_status_change
