#!/bin/bash
# kafka-run-class.sh CLASS ARGS...: runs a Kafka class on the jars in /opt/kafka/libs.
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} -XX:+UseG1GC -Djava.awt.headless=true \
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties \
  -cp '/opt/kafka/libs/*' "$@"
