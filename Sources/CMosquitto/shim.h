// CMosquitto: libmosquitto, the MQTT client library the agent drives from its own loop.
#include <mosquitto.h>
