# Turns a text file into a NUL-terminated C array: cmake -DINPUT= -DOUTPUT= -DSYMBOL= -P embed.cmake
file(READ ${INPUT} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE ${OUTPUT} "/* generated from ${INPUT}; do not edit */\nconst char ${SYMBOL}[] = {${bytes}0x00};\n")
