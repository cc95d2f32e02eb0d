"""Operations for data engineers: alerts, feed freshness, pipeline health."""
