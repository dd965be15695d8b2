-- older binaries: must stop
CREATE TABLE deploys (
    id TEXT PRIMARY KEY NOT NULL,
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    record TEXT NOT NULL
) STRICT;
CREATE INDEX deploys_by_deployment ON deploys (deployment_id);
