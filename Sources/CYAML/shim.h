// CYAML: libyaml, the event parser behind the agent's config and manifest readers.
#include <yaml.h>
