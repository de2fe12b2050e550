"""The read model, pure: per channel x queue views of the owned state, one build shared by
/metrics and the Redis snapshot."""
