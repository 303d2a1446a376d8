/// KingletPod: the Kubernetes Pod model the agent runs, decoded from documents.
