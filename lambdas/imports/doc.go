// Package imports loads a configuration too large for one Admin API
// request: an import job. The Admin API creates the job and hands out a
// presigned upload URL (S3 in AWS, the cluster listener in local mode);
// the client uploads its kong.yml there and starts the job; a Runner (the
// import Lambda, or a Worker in `skyport local`) reads the upload, checks
// the whole configuration, stages its entities in batches as a new
// generation of the store, and makes that generation current in one
// revision at the end. Data planes see the old configuration or the whole
// new one, never part of it; a job that fails leaves nothing visible and
// may be started again.
//
// A job's record and its upload live in the object store, beside the
// snapshots:
//
//	imports/<id>/job.json  the record (Job, plus what the runner resumes from)
//	imports/<id>/config    the uploaded kong.yml or JSON
//	imports/<id>/rest/<generation>/<from>-<k>.json.gz
//	                       the entities an invocation left to stage, parsed
//
// An invocation that hands a job on (the import Lambda's time is up)
// keeps what it has not staged, parsed and checked, in parts named in the
// record; the next invocations stage from them without parsing the upload
// again. On the embedded store a job stages through the store's own
// resumable batches (ResumableReplacer): a job resumed after a restart of
// `skyport local` goes on from the last batch the store staged.
//
// Every change of a record is conditional on the ETag read, so two
// runners of one job (a retried Lambda invocation) never both advance it.
package imports
