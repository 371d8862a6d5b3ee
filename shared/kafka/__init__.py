"""Kafka plumbing on aiokafka: topic administration, the publisher, the consumer runner."""
