// CModbus: libmodbus, for Modbus RTU over RS-485.
#include <modbus/modbus.h>
